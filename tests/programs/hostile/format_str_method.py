# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: .format is allowed only on a string literal
def execute_command(image):
    return str.format('{0.find.__globals__}', image)
