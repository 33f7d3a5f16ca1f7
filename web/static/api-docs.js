// filled in with the API docs page
