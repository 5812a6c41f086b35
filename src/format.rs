//! Output formats shared by every front end: raw AMI text, one-line summaries, JSON Lines.
