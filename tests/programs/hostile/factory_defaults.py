# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: attribute '__defaults__' starts with an underscore
def execute_command(image):
    return str(ImagePatch.__defaults__)
