# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: import is not allowed
def execute_command(image):
    from os import system
    return system('touch /tmp/pwned')
