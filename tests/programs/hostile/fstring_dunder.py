# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: '__class__'
def execute_command(image):
    return f'{image.__class__}'
