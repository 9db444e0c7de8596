# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: .format is allowed only on a string literal
def execute_command(image):
    template = '{0.__class__.__mro__}'
    return template.format(image)
