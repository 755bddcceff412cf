app_name = "localities"

urlpatterns: list = []
