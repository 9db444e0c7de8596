# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: '__builtins__'
def execute_command(image):
    return __builtins__['__import__']('os').name
