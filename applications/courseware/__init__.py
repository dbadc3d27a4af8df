"""Courseware: lesson plans, slides and quizzes, with exports."""
