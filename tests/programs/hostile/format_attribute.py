# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: format field {0.__class__.__mro__} reads an attribute or item
def execute_command(image):
    return '{0.__class__.__mro__}'.format(image)
