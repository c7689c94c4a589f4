def execute():
    print(my_object.data)
