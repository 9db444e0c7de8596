# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: format field {1.__class__} reads an attribute or item
def execute_command(image):
    return '{0:{1.__class__}}'.format(1, image)
