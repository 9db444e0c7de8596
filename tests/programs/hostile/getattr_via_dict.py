# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: name 'builtins' is not defined
def execute_command(image):
    g = builtins.getattr
    return str(g(image, 'find'))
