"""Cheminformatics for Serendip (RDKit): molecules, features, property models and design."""
