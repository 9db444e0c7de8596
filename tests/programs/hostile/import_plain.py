# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: import is not allowed
def execute_command(image):
    import os
    return os.name
