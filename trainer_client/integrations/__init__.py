"""Adapters for trainers: TRL (``trl``), verl (``verl``). They import only the client; the trainer libraries
themselves are imported by the user's code, not here."""
