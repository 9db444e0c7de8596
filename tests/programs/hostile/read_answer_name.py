# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: name 'annotation' is not defined
def execute_command(image):
    return annotation['answer']
