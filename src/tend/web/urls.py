"""Pages outside any organization. URL names are global (`login`, `home`, …) because Django's
auth settings and views refer to them that way."""

from django.urls import path

from tend.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", views.PasswordResetDoneView.as_view(),
         name="password_reset_done"),
    path("password-reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("password-reset/done/", views.PasswordResetCompleteView.as_view(),
         name="password_reset_complete"),
    path("organizations/", views.organizations, name="organizations"),
    path("profile/", views.profile, name="profile"),
    path("profile/password/", views.password_change, name="profile-password"),
    path("language/", views.set_language, name="set-language"),
]
