"""Melody generation: a recurrent model of monophonic solos, sampled event by event into MIDI (one-to-many)."""
