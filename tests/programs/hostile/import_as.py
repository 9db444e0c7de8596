# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: import is not allowed
def execute_command(image):
    import subprocess as sp
    return sp.run(['id'])
