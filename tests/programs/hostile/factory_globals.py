# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: '__globals__'
def execute_command(image):
    return str(ImagePatch.__globals__['ImagePatch'])
