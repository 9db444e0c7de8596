# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: getattr is not allowed
def execute_command(image):
    return str(getattr(image, '_ImagePatch__backend'))
