# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: .format_map is not allowed
def execute_command(image):
    return '{x.__init__.__globals__}'.format_map({'x': image})
