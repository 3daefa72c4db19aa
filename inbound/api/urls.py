from django.urls import path

from inbound.api.views import MessageDetailApi, MessagesApi

urlpatterns = [
    path("messages", MessagesApi.as_view(), name="api-messages"),
    path("messages/<str:message_id>", MessageDetailApi.as_view(), name="api-message"),
]
