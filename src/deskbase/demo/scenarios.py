"""What the demo's customers write about, and what the agents answer.

Each scenario is one kind of problem with everything said about it: subjects (with
the customer's description of each), the agent's first reply, the customer's
answer, internal notes and the reply that solves it. A demo ticket draws every
text of its conversation from its one scenario, so a ticket about webhooks never
talks about a refund.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from deskbase.demo.canned import CANNED_PERSONAL, CANNED_SHARED


@dataclass(frozen=True)
class Scenario:
    key: str
    category: str  # a demo category's name
    variants: tuple[tuple[str, str], ...]  # (subject, the customer's description)
    first_reply: str  # the agent's first answer; with `asks`, a question to the customer
    customer_reply: str  # the customer's answer to it
    resolution: str  # the agent's reply that solves it
    notes: tuple[str, ...]  # internal notes between agents
    priorities: tuple[int, int, int, int] = (3, 6, 2, 0)  # weights of low/medium/high/urgent
    asks: bool = True  # the first reply waits on the customer (the ticket goes pending)
    weight: int = 3  # how common it is

    def description_for(self, subject: str) -> str:
        return dict(self.variants)[subject]

    def texts(self) -> tuple[str, ...]:
        """Every text a ticket of this scenario may carry."""
        return (
            *(description for _, description in self.variants),
            self.first_reply, self.customer_reply, self.resolution, *self.notes,
        )  # fmt: skip


SCENARIOS: tuple[Scenario, ...] = (
    # ------------------------------------------------------------------ billing
    Scenario(
        key="duplicate-charge",
        category="Billing",
        weight=4,
        variants=(
            (
                "Charged twice for our monthly renewal",
                "Our card was charged twice for this month's renewal: two identical charges of "
                "EUR 249.00 on the same day. Please refund one of them.",
            ),
            (
                "Duplicate charge on my credit card",
                "My bank statement shows the subscription fee twice this month. We only have "
                "one workspace, so one of the charges must be a mistake.",
            ),
        ),
        first_reply="I can see two payment attempts on your account. Could you send the last "
        "four digits of the card and the dates on your statement, so I can match "
        "them with our payment provider?",
        customer_reply="The card ends in 4242; both charges are dated the 3rd, same amount.",
        notes=(
            "Payment provider shows the first attempt as timed out but captured; the retry "
            "captured again. Refund the second capture.",
            "Refund issued in the payment console; it takes 5-10 days to show.",
        ),
        resolution="I have refunded the duplicate charge. Your bank should show the refund "
        "within 5 to 10 business days, and your invoice is unchanged.",
        priorities=(1, 6, 3, 0),
    ),
    Scenario(
        key="invoice-details",
        category="Billing",
        variants=(
            (
                "Invoice is missing our VAT number",
                "The invoices we receive do not show our VAT number, and our accounting "
                "department cannot book them without it.",
            ),
            (
                "Please change the company name on our invoices",
                "We renamed our company last month. Can the new legal name appear on the "
                "invoices from now on, and on last month's invoice too?",
            ),
        ),
        first_reply="Happy to fix that. Please reply with the exact details as they should "
        "appear (legal name, address and VAT number).",
        customer_reply="Here they are: Northwind Trading GmbH, Hafenstrasse 12, 20457 Hamburg, "
        "VAT DE123456789.",
        notes=(
            "Updated the billing profile; regenerating last month's invoice needs a "
            "credit note plus a new invoice.",
        ),
        resolution="The billing details are updated and I re-issued last month's invoice with "
        "them. You will find both in Settings > Billing > Invoices.",
        priorities=(5, 4, 0, 0),
    ),
    Scenario(
        key="plan-change",
        category="Billing",
        asks=False,
        variants=(
            (
                "How do I downgrade to the Starter plan?",
                "We are a smaller team now and would like to move to the Starter plan at the "
                "end of the current billing period. What happens to our data?",
            ),
            (
                "Upgrade in the middle of the month: how is it billed?",
                "If we upgrade to Professional today, do we pay the full month again or only "
                "the difference?",
            ),
        ),
        first_reply="Good question. Plan changes are prorated to the day: an upgrade charges "
        "only the difference for the rest of the period, and a downgrade takes "
        "effect at the end of it. No data is removed in either case.",
        customer_reply="Thanks, that is clear. Please go ahead.",
        notes=("Customer is eligible; no custom contract terms on the account.",),
        resolution="Done: the change is scheduled and you will see it on your next invoice. "
        "Settings > Billing shows the date it takes effect.",
        priorities=(6, 3, 0, 0),
    ),
    Scenario(
        key="payment-declined",
        category="Billing",
        weight=2,
        variants=(
            (
                "Card payment declined, account shows past due",
                "We got an email that our payment failed and the account is now past due. "
                "The card is valid and has enough funds. Will our workspace be locked?",
            ),
        ),
        first_reply="Your workspace will not be locked while we sort this out. The bank "
        "declined the charge with 'authentication required': could you approve "
        "the payment in your banking app, or add another card?",
        customer_reply="I approved it in the banking app just now.",
        notes=("3-D Secure challenge was never completed; grace period extended by 7 days.",),
        resolution="The payment went through and the account is in good standing again. "
        "Thanks for approving it so quickly.",
        priorities=(1, 4, 4, 0),
    ),
    # ------------------------------------------------------------------ login
    Scenario(
        key="password-reset",
        category="Login",
        weight=5,
        variants=(
            (
                "Password reset email never arrives",
                "I requested a password reset three times and no email has arrived, not even "
                "in the spam folder. I cannot sign in.",
            ),
            (
                "Password reset link says it has expired",
                "When I click the link in the reset email it says the link has expired, even "
                "when I click it right away.",
            ),
        ),
        first_reply="Sorry for the trouble. Some mail filters open links to scan them, which "
        "uses up a reset link. Could you tell me which email provider you use, "
        "and whether your company scans incoming links?",
        customer_reply="We use Outlook with Defender, and yes, I think IT scans links.",
        notes=(
            "Mail log: delivered, link opened twice within a second from a Microsoft IP: "
            "link scanner. Known issue with Safe Links.",
        ),
        resolution="I have sent you a one-time sign-in code instead of a link, which link "
        "scanners cannot use up. Once in, you can set a new password under "
        "Profile > Security. We are also changing reset links so scanners no "
        "longer break them.",
        priorities=(1, 5, 4, 0),
    ),
    Scenario(
        key="two-factor",
        category="Login",
        weight=3,
        variants=(
            (
                "Lost my phone, cannot get two-factor codes",
                "My phone was stolen and my authenticator app was on it. I do not have my "
                "recovery codes. How can I get back into my account?",
            ),
            (
                "Two-factor codes are always rejected",
                "Every code from my authenticator app is rejected as invalid. It worked "
                "fine until yesterday.",
            ),
        ),
        first_reply="We can help. For your security, please ask an admin of your workspace "
        "to confirm your identity by replying to this ticket, or reply from your "
        "account's email address with the date you created your account.",
        customer_reply="My admin, Jordan, has confirmed by email to support just now.",
        notes=(
            "Identity confirmed by the workspace admin. Reset 2FA; remind the user "
            "to store recovery codes.",
            "Rejected codes are usually a phone clock that drifted: check the time sync.",
        ),
        resolution="Two-factor authentication is reset on your account. Sign in with your "
        "password and set it up again; please keep the new recovery codes somewhere "
        "safe. If codes are rejected again, turn on automatic time on your phone.",
        priorities=(0, 4, 5, 1),
    ),
    Scenario(
        key="sso",
        category="Login",
        weight=2,
        variants=(
            (
                "SSO sign-in fails with 'invalid audience'",
                "Since we moved to a new identity provider, every SSO sign-in ends with the "
                "error 'invalid audience'. Password sign-in still works for admins.",
            ),
            (
                "Okta users are sent back to the sign-in page",
                "Users who sign in through Okta land on our sign-in page again after Okta "
                "approves them. No error is shown.",
            ),
        ),
        first_reply="That error means the identity provider sends an audience (Entity ID) "
        "that does not match your workspace. Could you send a screenshot of the "
        "SAML app settings in your identity provider?",
        customer_reply="Screenshot attached. The Entity ID is https://sso.northwind.example.",
        notes=(
            "Their Entity ID should be the workspace URL + /saml/metadata. Sent the correct value.",
        ),
        resolution="The Entity ID in the identity provider must be your workspace URL "
        "followed by /saml/metadata. After changing it there, SSO sign-in works "
        "again: we tested it with your test user.",
        priorities=(0, 3, 5, 2),
    ),
    # ------------------------------------------------------------------ API and webhooks
    Scenario(
        key="webhook-502",
        category="API & webhooks",
        weight=4,
        variants=(
            (
                "Webhook deliveries failing with 502",
                "Our webhook endpoint shows a 502 for every delivery since this morning. "
                "Our server looks healthy and answers other requests. Events are piling up.",
            ),
            (
                "Webhooks stopped arriving since yesterday",
                "We no longer receive the ticket.updated webhooks since yesterday afternoon. "
                "The delivery log in the settings says 'gateway error'.",
            ),
        ),
        first_reply="I can see the failed deliveries to your endpoint. Could you check "
        "whether a proxy or firewall in front of it changed recently, and send "
        "us the response headers you get when you call the endpoint yourself?",
        customer_reply="Our hosting provider moved us behind a new load balancer yesterday; "
        "it only accepted requests up to 8 KB.",
        notes=(
            "Deliveries fail at their load balancer, not on our side: payload 11 KB, limit 8 KB.",
            "Failed deliveries are retried for 72 hours: nothing is lost.",
        ),
        resolution="Thanks for checking. With the limit raised on your load balancer, the "
        "queued deliveries went out and new ones arrive again; failed deliveries "
        "are retried for 72 hours, so nothing was lost.",
        priorities=(0, 3, 5, 2),
    ),
    Scenario(
        key="rate-limit",
        category="API & webhooks",
        asks=False,
        variants=(
            (
                "API returns 429 too often",
                "Our integration gets HTTP 429 errors several times an hour even though we "
                "send far fewer requests than the documented limit.",
            ),
            (
                "Hitting rate limits during the nightly sync",
                "Our nightly sync of customer records fails halfway with 'rate limit "
                "exceeded'. Can the limit be raised for us?",
            ),
        ),
        first_reply="The limit is counted per API token per minute, not per hour. Your "
        "integration sends its requests in short bursts, which go over it for a "
        "few seconds at a time.",
        customer_reply="Understood. We will spread the requests out and honour Retry-After.",
        notes=("Token shows bursts of ~400 requests in 10 s; average well below the limit.",),
        resolution="Spreading the requests and waiting as long as the Retry-After header "
        "says keeps you under the limit. Bulk endpoints take 100 records per "
        "request, which cuts the number of calls for your sync a lot.",
        priorities=(3, 6, 1, 0),
    ),
    Scenario(
        key="api-key",
        category="API & webhooks",
        weight=2,
        variants=(
            (
                "API key rejected after rotation",
                "We rotated our API key as our security policy asks, and now every request "
                "returns 401 Unauthorized, including with the new key.",
            ),
        ),
        first_reply="The old key stops working as soon as a new one is created. Could you "
        "send us the first 8 characters of the key your service sends, so we can "
        "see which one it is?",
        customer_reply="It starts with db_live_9f3. That should be the new one.",
        notes=(
            "Requests carry the key in a query parameter; only the Authorization header "
            "is accepted since the last API version.",
        ),
        resolution="The new key works; the requests were sending it as a query parameter, "
        "which the current API version no longer accepts. With the key in the "
        "Authorization header, your requests are accepted again.",
        priorities=(0, 4, 5, 1),
    ),
    # ------------------------------------------------------------------ bugs
    Scenario(
        key="csv-export",
        category="Bugs",
        weight=4,
        variants=(
            (
                "Export to CSV times out",
                "Exporting all tickets of last year to CSV runs for a few minutes and then "
                "fails with a timeout. Smaller exports work.",
            ),
            (
                "CSV export is missing the last rows",
                "The CSV export of last month stops at 10,000 rows, but we had more tickets "
                "than that. The file just ends.",
            ),
        ),
        first_reply="Thanks for the report. Which date range and filters did you use, and "
        "roughly how many tickets should the export contain?",
        customer_reply="All tickets from January to December, no filters, about 42,000.",
        notes=(
            "Reproduced: synchronous export stops at 10k rows / 120 s. Bug filed as EXP-311.",
            "Workaround: the background export emails a download link, no row limit.",
        ),
        resolution="Large exports now run in the background: start the export as before "
        "and you will get an email with a download link when the file is ready. "
        "The 10,000-row cut-off has been fixed.",
        priorities=(2, 6, 2, 0),
    ),
    Scenario(
        key="mobile-upload",
        category="Bugs",
        weight=3,
        variants=(
            (
                "Mobile app crashes when uploading photos",
                "The iOS app closes as soon as I attach a photo to a ticket. It happens with "
                "every photo, on an iPhone 15 with the latest iOS.",
            ),
            (
                "Android app freezes on attachment upload",
                "Uploading a PDF from the Android app shows the progress bar, then the app "
                "freezes and I have to force quit it.",
            ),
        ),
        first_reply="Sorry about that. Which version of the app do you have (Settings > "
        "About), and does it also happen with a small screenshot?",
        customer_reply="Version 4.12.0. Small screenshots upload fine; photos from the "
        "camera crash.",
        notes=(
            "Crash reports show an out-of-memory error resizing large HEIC photos; "
            "fixed in 4.12.2.",
        ),
        resolution="This is fixed in version 4.12.2 of the app, which is now in the App "
        "Store and on Google Play. After updating, photos of any size upload "
        "normally.",
        priorities=(1, 6, 3, 0),
    ),
    Scenario(
        key="slow-dashboard",
        category="Bugs",
        weight=2,
        asks=False,
        variants=(
            (
                "Dashboard takes a minute to load on Monday mornings",
                "Every Monday morning the dashboard needs about a minute to load for our whole "
                "team. Later in the week it is fast.",
            ),
        ),
        first_reply="Thanks, we can see it in our monitoring too: the weekly report runs "
        "for all customers at the same time early on Monday and slows the "
        "dashboard for the first hour.",
        customer_reply="Good to know it is not just us. Any idea when it will be better?",
        notes=("Known: weekly report job contends with dashboards. Ops moved it to Sunday night.",),
        resolution="The weekly report now runs on Sunday night, so the dashboard is fast "
        "again on Monday mornings. Thanks for your patience.",
        priorities=(3, 6, 1, 0),
    ),
    Scenario(
        key="wrong-dates",
        category="Bugs",
        weight=2,
        variants=(
            (
                "Due dates shown one day early",
                "Due dates in the task list are one day earlier than the date we entered. "
                "Our team is in Sydney; colleagues in London see the right date.",
            ),
        ),
        first_reply="That sounds like a time zone issue. Which time zone is set in your "
        "profile, and which one in the workspace settings?",
        customer_reply="My profile says Australia/Sydney, the workspace says UTC.",
        notes=(
            "Date-only fields were converted with the workspace zone instead of the "
            "user's. Fix released today.",
        ),
        resolution="We fixed how dates without a time are shown: they no longer move with "
        "the time zone. Your due dates now show the day you entered, in Sydney "
        "and in London.",
        priorities=(2, 6, 1, 0),
    ),
    # ------------------------------------------------------------------ feature requests
    Scenario(
        key="bulk-edit",
        category="Feature requests",
        asks=False,
        variants=(
            (
                "Feature request: edit many tickets at once",
                "We often need to change the team of 20 or 30 tickets at a time. Could you "
                "add a way to select several tickets and change them together?",
            ),
            (
                "Request: bulk tagging of tickets",
                "It would save us a lot of time to add the same tag to many tickets at once "
                "from the ticket list.",
            ),
        ),
        first_reply="Thanks for the suggestion! Bulk actions are on our roadmap; I have added "
        "your use case to the request so the product team sees it.",
        customer_reply="Great, thanks. Looking forward to it.",
        notes=("Added to feature request FR-88 (bulk actions); 14 customers asking.",),
        resolution="Bulk actions are now available: select tickets in the list with the "
        "checkboxes, then choose the team, tag or status to apply to all of them.",
        priorities=(7, 2, 0, 0),
    ),
    Scenario(
        key="slack",
        category="Feature requests",
        asks=False,
        weight=2,
        variants=(
            (
                "Request: Slack notifications per team",
                "Could each of our teams get its own Slack channel notification when a "
                "ticket is assigned to the team?",
            ),
            (
                "Dark mode for the agent workspace?",
                "Our night shift would love a dark theme for the agent workspace. Is that planned?",
            ),
        ),
        first_reply="Thank you for the idea. I have passed it to our product team with your "
        "description; we cannot promise a date yet, but requests like this one "
        "shape what we build next.",
        customer_reply="Thanks, please keep us posted.",
        notes=("Logged in the feature request board with the customer's use case.",),
        resolution="I have logged the request, and you will get an update on this ticket "
        "when it is scheduled. Thanks again for the suggestion.",
        priorities=(8, 1, 0, 0),
    ),
    # ------------------------------------------------------------------ account
    Scenario(
        key="add-teammate",
        category="Account",
        weight=4,
        asks=False,
        variants=(
            (
                "How do I add a teammate?",
                "A new colleague starts on Monday. How do I give her access to our "
                "workspace, and does it change what we pay?",
            ),
            (
                "Invitation link for a new colleague expired",
                "I invited a colleague last week but she only tried the link today and it "
                "says it has expired.",
            ),
        ),
        first_reply="Admins invite teammates from Settings > Team > Invite. Invitations "
        "are valid for 7 days; you can send a new one from the same page. Each "
        "active seat is billed from the day it is accepted.",
        customer_reply="Found it, the new invitation worked. Thank you!",
        notes=("Customer is not an admin on the workspace; pointed them to their admin.",),
        resolution="Glad it worked! Your colleague now has access, and the seat shows on "
        "your next invoice, prorated from today.",
        priorities=(6, 3, 0, 0),
    ),
    Scenario(
        key="cancel",
        category="Billing",
        weight=2,
        variants=(
            (
                "Cancel my subscription",
                "We have decided to stop using the service at the end of this month. Please "
                "cancel our subscription and tell us how to export our data.",
            ),
        ),
        first_reply="Sorry to see you go. May I ask what made you decide to leave? And would "
        "you like us to keep your data for 30 days in case you change your mind?",
        customer_reply="Budget cuts, unfortunately. Yes, please keep the data for 30 days.",
        notes=("Offered the Starter plan at a discount; customer declined.",),
        resolution="Your subscription is cancelled at the end of the current period, and "
        "no further charges will be made. Settings > Export gives you a full "
        "archive of your data until then, and we keep it for 30 days after.",
        priorities=(5, 4, 0, 0),
    ),
)

_BY_SUBJECT = {subject: s for s in SCENARIOS for subject, _ in s.variants}
assert len(_BY_SUBJECT) == sum(len(s.variants) for s in SCENARIOS), "subjects must be unique"


def scenario_for(subject: str) -> Scenario | None:
    """The scenario a ticket's subject belongs to (None: not a demo subject)."""
    return _BY_SUBJECT.get(subject)


# What the customer says when a solved problem comes back (the ticket reopens).
REOPENED = "Sorry, this is happening again since this morning."
# Comments that suit any ticket: the customer's reopening line and the fixed text of the
# canned responses the agents use (the longest stretch without a placeholder of each).
GENERIC_TEXTS: tuple[str, ...] = (
    REOPENED,
    *(
        max(re.split(r"\{\{[^{}]*\}\}", body), key=len).strip()
        for _, body in (*CANNED_SHARED, *CANNED_PERSONAL)
    ),
)
