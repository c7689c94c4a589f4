# A first draft with five mistakes, for `safeprobe lint` in docs/operators.md.
def execute():
    print(os.getcwd())
    print("secret", my_object.secret)
    print(my_obect.data)
    with open("/etc/passwd") as f:  # noqa: PTH123 - the mistake lint is shown finding
        print(f.read())
    my_object.data["a"] = "x"
