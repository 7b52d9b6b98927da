"""The words of a product-support desk: names, companies, and the pieces of subjects and bodies.

Every list is ordered from common to rare: `text.py` draws from each with Zipf weights
(rank k has weight 1/k^s), so the generated corpus has a few very common words
("dashboard", "error", "invoice") and a long tail a search meets once in a while.
Nothing here contains a tab, a backslash or a carriage return, and none of it is
user input: the COPY escaping in `copytext.py` still runs over every text.
"""

from __future__ import annotations

FIRST_NAMES = (
    "James", "Mary", "Ahmed", "Priya", "Wei", "Sofia", "Lukas", "Emma", "Mateo", "Olivia",
    "Noah", "Mia", "Yuki", "Amara", "Liam", "Chloe", "Arjun", "Fatima", "Ivan", "Elena",
    "Kofi", "Aisha", "Hiro", "Lena", "Diego", "Nora", "Omar", "Zara", "Felix", "Ines",
    "Tomas", "Freya", "Ravi", "Leila", "Jonas", "Maya", "Carlos", "Hannah", "Kenji", "Ana",
    "Samuel", "Grace", "Mohammed", "Julia", "Daniel", "Sara", "Pedro", "Ella", "Viktor",
    "Alice", "Ben", "Clara", "David", "Eva", "Finn", "Greta", "Hugo", "Isla", "Jack",
    "Kira", "Leo", "Lina", "Marco", "Nina", "Oscar", "Paula", "Quinn", "Rosa", "Sven",
    "Tara", "Umar", "Vera", "Will", "Xena", "Yusuf", "Zoe", "Anil", "Bea", "Chen", "Dara",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Garcia", "Mueller", "Kim", "Nguyen", "Rossi", "Silva", "Novak", "Patel",
    "Johnson", "Tanaka", "Okafor", "Brown", "Schmidt", "Lopez", "Wang", "Dubois", "Jensen",
    "Kowalski", "Haddad", "Ivanova", "Costa", "Fischer", "Singh", "Martin", "Weber", "Sato",
    "Andersen", "Moreau", "Lindqvist", "Mensah", "Rahman", "Hoffmann", "Bianchi", "Yilmaz",
    "Chen", "Khan", "Becker", "Santos", "Larsen", "Nakamura", "Horvat", "Petrov", "Ali",
    "Wagner", "Torres", "Popescu", "Eriksson", "Murphy", "Kaur", "Dimitrov", "Ortiz", "Berg",
    "Keller", "Romano", "Park", "Suzuki", "Adeyemi", "Nielsen", "Vargas", "Hughes", "Kaya",
)  # fmt: skip
CUSTOMER_DOMAINS = (
    "example.com", "example.org", "example.net", "mail.example", "corp.example",
    "shop.example", "clinic.example", "school.example", "agency.example", "studio.example",
)  # fmt: skip
COMPANY_WORDS = (
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Soylent", "Cyberdyne",
    "Tyrell", "Wonka", "Aperture", "Stark", "Wayne", "Gringotts", "Oscorp", "Monarch",
    "Nakatomi", "Pied Piper", "Sirius", "Zorg", "Blue Sun", "Dunder", "Bluth", "Prestige",
    "Massive", "Virtucon", "Ollivander", "Kramerica", "Gekko", "Duff", "Spacely", "Cogswell",
    "Rekall", "Weyland", "Yoyodyne", "Contoso", "Fabrikam", "Northwind", "Tailspin", "Litware",
)  # fmt: skip
COMPANY_KINDS = (
    "Labs", "Systems", "Logistics", "Health", "Retail", "Bank", "Studios", "Foods",
    "Software", "Travel", "Energy", "Media", "Insurance", "Games", "Robotics", "Telecom",
)  # fmt: skip

# --- the pieces of a ticket, most common first --------------------------------------------

NOUNS = (
    "dashboard", "invoice", "account", "password", "export", "mobile app", "login page",
    "subscription", "report", "API", "integration", "billing page", "email notification",
    "webhook", "workspace", "CSV export", "two-factor code", "single sign-on", "search",
    "user list", "payment", "refund", "upload", "attachment", "calendar sync", "team invite",
    "data import", "admin console", "API key", "plan", "credit card", "receipt", "profile",
    "chart", "filter", "template", "automation rule", "Slack integration", "audit log",
    "desktop app", "browser extension", "PDF export", "custom field", "permission",
    "user role", "time zone", "language setting", "dark mode", "print view", "live chat",
    "knowledge base", "contact form", "survey", "tag", "label", "workflow", "trigger",
    "reminder", "Salesforce sync", "Zapier connection", "GraphQL endpoint", "rate limit",
    "SDK", "iOS app", "Android app", "session", "storage quota", "license", "seat count",
    "invitation link", "onboarding checklist", "migration", "import wizard", "payment method",
    "bank transfer", "purchase order", "contract", "renewal", "usage report", "analytics page",
    "goal tracker", "SAML configuration", "SCIM provisioning", "backup", "data retention",
    "custom domain", "DNS record", "SSL certificate", "trial", "discount code", "tax ID",
    "VAT number", "billing address", "avatar", "keyboard shortcut", "chatbot", "widget",
    "embed code", "public link", "sandbox", "staging workspace", "IP allowlist", "OAuth app",
    "password reset email", "magic link", "status page", "incident report", "changelog",
    "mobile push notification", "SMS alert", "voice call", "phone number", "call recording",
    "transcript", "macro", "canned reply", "SLA report", "satisfaction survey", "queue",
    "escalation policy", "on-call schedule", "holiday calendar", "business hours",
)  # fmt: skip
SYMPTOMS = (
    "is not loading", "shows an error", "times out", "is very slow", "does not update",
    "is missing", "crashes", "shows the wrong amount", "keeps spinning", "returns a 500 error",
    "logs me out", "is blank", "fails silently", "has stopped working", "is stuck",
    "cannot be saved", "is greyed out", "never arrives", "duplicates entries",
    "rejects my password", "shows old data", "is cut off", "freezes the browser",
    "charges twice", "ignores my settings", "sends too many emails", "loses my changes",
    "shows a blank page on Safari", "is out of sync", "drops the last row", "mixes up dates",
    "breaks the layout", "downloads an empty file", "opens in the wrong language",
    "reports a negative balance", "hangs at 99 percent", "shows another user's name",
    "rounds the totals wrong", "fails with a certificate warning", "loops back to login",
)  # fmt: skip
ACTIONS = (
    "log in", "reset my password", "export our data", "add a teammate", "download an invoice",
    "change the billing email", "upgrade our plan", "cancel the subscription",
    "connect Slack", "update my credit card", "generate an API key", "set up single sign-on",
    "enable two-factor authentication", "import contacts", "remove a user",
    "create a report", "share a dashboard", "configure a webhook", "change my email address",
    "rename the workspace", "merge two accounts", "transfer ownership", "delete my account",
    "restore a deleted item", "downgrade to the free plan", "add a custom domain",
    "schedule a weekly report", "invite an external guest", "change the invoice currency",
    "export the audit log", "limit access by IP", "move tickets between teams",
    "set business hours", "add a holiday", "translate the help center", "bulk edit tags",
    "revoke an old token", "reconnect the calendar", "print a receipt", "split a payment",
)  # fmt: skip
CONTEXTS = (
    "since this morning", "after the last update", "on Chrome", "for all our users",
    "every time", "since yesterday", "on my iPhone", "intermittently", "on Android",
    "on Firefox", "for some of our team", "after the migration", "on Safari",
    "with a large file", "when I use the API", "from our office network", "behind our proxy",
    "on the EU server", "on the US server", "since the weekend", "only in Edge",
    "right after I sign in", "at the end of every month", "on slow connections",
    "for customers in Japan", "when two people edit at once", "in the staging workspace",
    "with more than a thousand rows", "after switching plans", "in incognito mode",
)  # fmt: skip
ERRORS = (
    "Something went wrong", "Error 500", "Request timed out", "Access denied",
    "Invalid token", "Payment declined", "Session expired", "Rate limit exceeded",
    "Error 403 Forbidden", "File too large", "Quota exceeded", "Unknown error",
    "Connection reset", "Invalid signature", "Certificate expired", "Duplicate key",
    "Bad gateway", "Service unavailable", "Unsupported media type", "Checksum mismatch",
)  # fmt: skip
FINDINGS = (
    "everything looks correct on our side", "the cache was out of date",
    "the card was declined by the bank", "a background job had failed",
    "the token had expired", "two accounts share the same email address",
    "the file was larger than the limit", "a browser extension blocks the script",
    "the webhook endpoint returned a 404", "the sync was paused after an error",
    "the invoice used the old tax rate", "the user had no permission for that team",
    "the import stopped at a malformed row", "the SSO certificate was rotated",
    "the daily quota was reached at noon", "the report was filtered by an old date range",
)  # fmt: skip
FIXES = (
    "cleared the cache", "resent the invitation", "reset the sync", "issued a refund",
    "extended the trial", "restored the deleted items", "regenerated the API key",
    "corrected the invoice", "raised the storage quota", "re-enabled the integration",
    "unlocked the account", "merged the duplicate accounts", "updated the tax settings",
    "rerun the export", "removed the stale session", "renewed the certificate",
)  # fmt: skip
LOCATIONS = (
    "Settings page", "Billing tab", "Admin console", "account menu", "Integrations page",
    "Team settings", "Security tab", "Reports section", "Help center", "Developer portal",
)  # fmt: skip
PLANS = ("Starter", "Professional", "Business", "Enterprise", "Free", "Team", "Growth")
TEAM_WORDS = (
    "support team", "sales team", "finance department", "engineers", "whole company",
    "night shift", "accountants", "marketing team", "warehouse staff", "managers",
)  # fmt: skip
CAUSES = (
    "a bug in the latest release", "a misconfigured rule", "an expired certificate",
    "a caching problem", "a delay at our payment provider", "a network incident",
    "an outage at our email provider", "a limit on your current plan",
    "a timezone mismatch", "a browser update", "a failed database migration",
)  # fmt: skip
REQUESTS = (
    "dark mode for the mobile app", "an export to Excel", "more granular permissions",
    "a bulk delete button", "custom fields on reports", "webhooks for invoices",
    "a French translation", "keyboard shortcuts", "an audit log export",
    "scheduled reports", "SSO for the free plan", "a public API for tags",
)  # fmt: skip
CLOSINGS_STAFF = (
    "Best regards",
    "Kind regards",
    "Thanks",
    "Cheers",
    "All the best",
    "Many thanks",
)
GREETINGS_STAFF = ("Hi there,", "Hello,", "Hi,", "Good morning,", "Thanks for reaching out.")
GREETINGS_CUSTOMER = ("Hi,", "Hello,", "Hi team,", "Hello support,", "Dear support team,", "")
URGENCY = ("quite urgent", "not urgent", "blocking us", "a bit urgent", "critical for us today")
TAGS = (
    "billing", "bug", "login", "refund", "vip", "mobile", "api", "sso", "export", "outage",
    "feature-request", "onboarding", "churn-risk", "invoice", "integration", "performance",
    "security", "gdpr", "escalated", "enterprise", "ios", "android", "webhook", "duplicate",
    "follow-up", "known-issue", "trial", "upgrade", "downgrade", "tax",
)  # fmt: skip

# --- templates: {slot} names a list above ---------------------------------------------------

SUBJECT_TEMPLATES = (
    "{noun} {symptom}", "Cannot {action}", "{noun} {symptom} {context}",
    'Error "{error}" when I {action}', "How do I {action}?", "Question about the {noun}",
    "Urgent: {noun} {symptom}", "Feature request: {request}", "{noun} {symptom} after update",
    "Help with the {noun}", "Unable to {action} {context}", "Re: {noun}",
)  # fmt: skip
CUSTOMER_SENTENCES = (
    "I am trying to {action} but the {noun} {symptom}.",
    "The {noun} {symptom} {context}.",
    'We get "{error}" when we {action}.',
    "Could you help us {action}?",
    "This is {urgency}.",
    "It worked fine last week but now the {noun} {symptom}.",
    "Our {team} cannot {action}.",
    "I have attached a screenshot of the {noun}.",
    "We are on the {plan} plan.",
    "Is there a way to {action} from the {location}?",
    "The {noun} {symptom} and the {noun} {symptom} as well.",
    "We would love to see {request}.",
    "Nothing in the help center explains how to {action}.",
    "I already tried to {action} again {context}.",
)
STAFF_SENTENCES = (
    "Thanks for reaching out about the {noun}.",
    "I have checked your account and {finding}.",
    "Could you send us a screenshot of the {noun}?",
    "Please clear your browser cache and try to {action} again.",
    "Our engineers are looking into the {noun} issue.",
    "This was caused by {cause}.",
    "I have {fix} for your account.",
    "You can {action} from the {location}.",
    "We released a fix for the {noun} problem this morning.",
    "Let me know if the {noun} still {symptom}.",
    "I have passed your request for {request} to our product team.",
    "The {noun} should work again {context}.",
)
INTERNAL_SENTENCES = (
    "Checked the logs: {finding}.",
    "Escalated to the {team}.",
    "Known issue, caused by {cause}.",
    "Customer is on the {plan} plan, handle with care.",
    "Reproduced it {context}.",
    "Asked engineering whether the {noun} fix is deployed.",
    "I {fix}; waiting for the customer to confirm.",
)
SYSTEM_NOTES = (
    "This ticket was closed automatically after 7 days without a reply.",
    "This ticket was closed automatically after 3 days without a reply.",
)
CSAT_COMMENTS = (
    "Quick and helpful, thank you!", "Solved on the first reply.", "Took far too long.",
    "Great support as always.", "The answer did not solve my problem.", "Friendly and clear.",
    "I had to explain the issue three times.", "Fast fix, much appreciated.",
)  # fmt: skip
CANNED = (
    ("Greeting", "Hi {{ customer.name }},\n\nthanks for contacting us about ticket "
     "#{{ ticket.number }}. We are looking into it."),
    ("Need a screenshot", "Hi {{ customer.name }},\n\ncould you send us a screenshot of "
     "the error? It helps us find the cause faster."),
    ("Clear the cache", "Please clear your browser cache, sign out and sign in again, "
     "then let us know if the problem persists."),
    ("Escalated", "I have escalated ticket #{{ ticket.number }} to our engineers. "
     "We will update you as soon as we know more."),
    ("Refund issued", "We have issued a refund; it will appear on your statement within "
     "5 to 10 business days."),
    ("Fixed in release", "The problem was fixed in today's release. Please reload the page."),
    ("Closing", "As we have not heard back, we will close this ticket. Reply to reopen it."),
    ("Password reset", "You can reset your password from the login page with "
     "'Forgot password'. The link is valid for one hour."),
    ("Feature request logged", "Thanks for the suggestion! I have logged it for our product "
     "team."),
    ("Billing contact", "Invoices go to the billing email set in the Billing tab of "
     "{{ organization.name }}."),
    ("Outage notice", "We are aware of an outage affecting some customers and are working "
     "on a fix. Updates: our status page."),
    ("Sign-off", "Best regards,\n{{ agent.name }}"),
)  # fmt: skip
ATTACHMENTS = (
    ("screenshot.png", "image/png", 180_000), ("error.log", "text/plain", 24_000),
    ("invoice.pdf", "application/pdf", 95_000), ("export.csv", "text/csv", 400_000),
    ("recording.mp4", "video/mp4", 4_800_000), ("photo.jpg", "image/jpeg", 900_000),
    ("har-file.har", "application/json", 1_200_000), ("config.json", "application/json", 3_000),
    ("contract.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
     60_000),
)  # fmt: skip

# The category tree every organization gets (roots carry the routing skill).
CATEGORY_TREE = (
    ("Billing", "billing", ("Invoices", "Refunds", "Plans and pricing", "Payment methods")),
    ("Technical", "technical", ("Login and SSO", "Performance", "Bugs", "Data import")),
    ("Account", "account", ("Users and permissions", "Security", "Deletion requests")),
    ("Integrations", "integrations", ("API", "Webhooks", "Slack", "Salesforce")),
    ("Mobile", "mobile", ("iOS", "Android")),
    ("Feedback", "", ("Feature requests", "Praise", "Complaints")),
)
TEAM_NAMES = (
    ("Tier 1", ""), ("Billing", "billing"), ("Technical", "technical"),
    ("Integrations", "integrations"), ("Mobile", "mobile"), ("Accounts", "account"),
    ("Enterprise", ""), ("Night shift", ""),
)  # fmt: skip
