"""The teaching daemon and its init-script-style control."""
