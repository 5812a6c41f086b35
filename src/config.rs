//! Profiles (TOML under the XDG config dir), targets and where the secret comes from.
