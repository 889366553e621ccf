"""A patient across the clinic: found by name, phone, e-mail or booking reference, everything held
about them in one export, and their erasure. Owns no tables: each domain exports and forgets its
own rows (`privacy` modules), this package puts them together."""
