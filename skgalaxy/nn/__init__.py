"""Plain torch modules used by the skgalaxy estimators.

Nothing in this package imports scikit-learn.
"""
