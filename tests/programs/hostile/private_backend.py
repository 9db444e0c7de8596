# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: starts with an underscore
def execute_command(image):
    return str(image._ImagePatch__backend._scenes)
