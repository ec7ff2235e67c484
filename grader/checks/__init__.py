"""The checks of each exercise, declared as data in one module per exercise."""
