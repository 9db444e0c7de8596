# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: format field {0[os]} reads an attribute or item
def execute_command(image):
    return '{0[os]}'.format({'os': image})
