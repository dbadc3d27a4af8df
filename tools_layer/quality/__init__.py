"""Content checks on written text: what a reader would notice (the wrong language, made-up words,
repetition, talk about the task, copy about something else, broken sentences), as plain functions.

Used by the applications (marketing, courseware) to judge what a generator wrote, and by dataset
cleaning to drop rows no one should train on. `checks` holds the measures and the named checks;
`fluency` scores text under a reference language model through the runtime.
"""
