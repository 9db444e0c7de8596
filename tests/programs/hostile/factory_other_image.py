# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: error
# error: TypeError: ImagePatch() needs an ImagePatch (image, or a patch found in it), got str
def execute_command(image):
    other = ImagePatch('img_other', 0, 0, 10, 10)
    return bool_to_yesno(other.exists('star'))
