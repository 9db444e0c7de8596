# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: error
# error: longer than 1000
def execute_command(image):
    return str(image.find('star ' * 300))
