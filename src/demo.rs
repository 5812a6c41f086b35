//! A simulated Asterisk 22 PBX speaking AMI, for `amicon demo` and `amicon serve`.
