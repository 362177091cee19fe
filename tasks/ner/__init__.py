"""CoNLL-2003 named-entity recognition: many-to-many tagging with character features and a CRF."""
