# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: must take exactly one argument
def execute_command(image, my_fig, time_wait_between_lines, syntax, annotation):
    return annotation
