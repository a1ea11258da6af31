def test_login_then_pages(client, auth):
    response = auth.login()
    assert response.status_code == 302, response.get_data(as_text=True)
    for path in ("/ddenterpriseapi/", "/ddenterpriseapi/configuration/oauth"):
        response = client.get(path)
        assert response.status_code == 200, response.get_data(as_text=True)


def test_the_icon_answers_without_login(client, auth):
    with client.get("/favicon.ico") as icon:  # where browsers look on their own
        assert icon.status_code == 200 and icon.mimetype in ("image/x-icon", "image/vnd.microsoft.icon")
        assert icon.data.startswith(b"\x00\x00\x01\x00")
    page = client.get("/ddenterpriseapi/login").get_data(as_text=True)
    assert '<link rel="icon" href="/ddenterpriseapi/static/favicon.svg" type="image/svg+xml">' in page
    with client.get("/ddenterpriseapi/static/favicon.svg") as svg:
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
