# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: introspection
def execute_command(image):
    g = (x for x in [1])
    return str(g.gi_code)
