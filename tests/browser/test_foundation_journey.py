"""A person signs in, opens the dashboard, starts a demo job and watches it reach `succeeded`."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_start_demo_job_and_watch_it_succeed(sign_in, creator, worker, web):
    page = sign_in(creator)
    # The dashboard greets the user with their role and the health of the platform (up or down: each
    # check's detail, which names hosts and paths, is for operators and admins)
    expect(page.get_by_test_id("username")).to_have_text(creator.username)
    expect(page.locator("#health")).to_contain_text("platform")
    expect(page.locator("#health")).not_to_contain_text("database")
    # When they start a demo job
    page.fill("#demo-job input[name=steps]", "3")
    page.click("#demo-job button[type=submit]")
    # then they land on the job's page and watch it progress live to the end
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    expect(page.get_by_test_id("job-status")).to_have_text("succeeded", timeout=30_000)
    expect(page.locator("#progress .label")).to_have_text("100%")
    expect(page.locator("#log")).to_contain_text("step 3 of 3")
    expect(page.locator("#result")).to_contain_text("Hello from the AIGC Platform")
    # and the jobs list shows it
    page.click("nav >> text=Jobs")
    expect(page.locator("#jobs tr").first).to_contain_text("succeeded")


def test_wrong_password_keeps_the_person_on_the_sign_in_page(page, web, creator):
    page.goto(f"{web}/accounts/login/")
    page.fill("input[name=username]", creator.username)
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")


def test_pages_need_a_signed_in_user(page, web):
    page.goto(f"{web}/jobs/")
    assert "/accounts/login/" in page.url
