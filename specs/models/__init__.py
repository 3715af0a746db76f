"""The zoo specs; installed as the package ``graphspec.zoo`` so hub functions find them."""
