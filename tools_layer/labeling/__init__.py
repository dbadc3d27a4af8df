"""Data labeling: projects over dataset versions, tasks, annotations, agreement, export."""
