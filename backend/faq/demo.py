"""The demo dental clinic's FAQ: what a real front desk is asked every day, in its own words."""

from __future__ import annotations

from backend.faq.schemas import FaqEntryIn

DEMO_FAQ = tuple(
    FaqEntryIn.model_validate(entry)
    for entry in (
        {
            "topic": "address",
            "position": 10,
            "questions": [
                "Where are you?",
                "What's your address?",
                "Where is the clinic located?",
                "How do I get to you?",
                "directions to the office",
            ],
            "answer": "We're at 118 Maple Street, Suite 300, Brooklyn, NY 11201, on the third floor above "
            "the pharmacy. The nearest subway is Borough Hall (2, 3, 4 and 5 trains), a five-minute walk.",
        },
        {
            "topic": "parking",
            "position": 20,
            "questions": [
                "Is there parking?",
                "Where can I park?",
                "Do you have a parking lot?",
                "parking near you",
            ],
            "answer": "We have no lot of our own, but the Maple Street Garage next door gives our patients "
            "two hours for $8: bring your ticket to the front desk to have it stamped. Street "
            "parking nearby is metered.",
        },
        {
            "topic": "insurance",
            "position": 30,
            "questions": [
                "Do you take insurance?",
                "Which insurance do you accept?",
                "Are you in network with my dental plan?",
                "Do you accept Delta Dental?",
                "what insurance plans do you take",
            ],
            "answer": "We're in network with Delta Dental PPO, Cigna Dental PPO, MetLife PDP Plus, Aetna "
            "Dental PPO and Guardian DentalGuard Preferred. With any other plan we file the claim "
            "for you as out of network. Please bring your insurance card to your visit.",
        },
        {
            "topic": "prices",
            "position": 40,
            "questions": [
                "How much does it cost?",
                "What are your prices?",
                "How much is a cleaning?",
                "How much is a check-up?",
                "How much for a filling?",
            ],
            "answer": "We quote at the visit: the dentist examines you first and gives you a written "
            "estimate before any treatment starts, so you never pay for anything you did not agree to.",
        },
        {
            "topic": "payment",
            "position": 50,
            "questions": [
                "How can I pay?",
                "Do you take credit cards?",
                "What payment methods do you accept?",
                "Can I pay in installments?",
            ],
            "answer": "We take cash, all major credit and debit cards, Apple Pay, Google Pay and HSA/FSA "
            "cards. Payment is due at the end of the visit; for larger treatment plans we can spread "
            "the cost over interest-free monthly payments.",
        },
        {
            "topic": "what_to_bring",
            "position": 60,
            "questions": [
                "What should I bring?",
                "What do I need to bring to my appointment?",
                "Do I need to bring anything?",
                "What do I need for my first visit?",
            ],
            "answer": "Please bring a photo ID, your insurance card if you have one, and a list of the "
            "medicines you take. On your first visit, come 10 minutes early to fill in a short "
            "health form.",
        },
        {
            "topic": "visit_length",
            "position": 70,
            "questions": [
                "How long does a visit take?",
                "How long will the appointment be?",
                "How long is a check-up?",
                "How much time should I set aside?",
            ],
            "answer": "A check-up takes about 30 minutes, a cleaning about an hour and a filling about an "
            "hour and a half. First visits run about 15 minutes longer for the paperwork.",
        },
        {
            "topic": "cancellation_policy",
            "position": 80,
            "questions": [
                "What is your cancellation policy?",
                "Is there a fee for cancelling?",
                "What if I need to cancel?",
                "Do you charge for missed appointments?",
            ],
            "answer": "Please cancel or move your appointment at least 24 hours ahead; you can do it "
            "right here in the chat. A missed appointment, or one cancelled with less than 24 hours' "
            "notice, may be charged $50.",
        },
    )
)
