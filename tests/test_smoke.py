def test_login_then_pages(client, auth):
    response = auth.login()
    assert response.status_code == 302, response.get_data(as_text=True)
    for path in ("/ddenterpriseapi/", "/ddenterpriseapi/configuration/oauth"):
        response = client.get(path)
        assert response.status_code == 200, response.get_data(as_text=True)
