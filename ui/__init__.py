"""Qt widgets, Qt models and dialogs. Widgets call `models`; they never write SQL."""
