"""Templates of emergencies, as lay people describe them, per category of published guidance: NHS
"when to call 999" (chest pain, breathing difficulty, loss of consciousness, fits that are not
stopping, severe bleeding, severe allergic reactions, severe burns, serious head injuries, stroke,
choking), the American Heart Association's heart-attack warning signs (pain in the arms, back, neck
or jaw, with or without the chest; cold sweat, nausea, light-headedness), FAST for stroke, epilepsy
charities' "when to call an ambulance" (shaking that lasts, not waking after), anaphylaxis signs
(swelling of throat, tongue or lips, wheezing, feeling faint after a food, a sting or a medicine),
first-aid signs of shock after blood loss (pale, cold and clammy, fast breathing, dizzy, confused),
poisoning, head-injury red flags, published warning signs of suicide, and NHS and dental-practice
guidance on when a dental problem goes to A&E (swelling to the eye or neck, trouble swallowing or
breathing).
"""

from __future__ import annotations

from policy.triage.corpus.template import Template

T = Template

SHAKE = ["shaking all over", "jerking all over", "twitching and jerking", "stiff and shaking", "thrashing around",
         "shaking really badly", "jerking {poss} arms and legs", "convulsing", "shaking uncontrollably",
         "all stiff and jerking", "having a fit", "fitting"]  # fmt: skip
NOT_WAKING = ["won't wake up", "isn't waking up", "not waking up", "not responding", "won't respond to me",
              "not answering me", "not reacting to anything", "can't be woken", "is out of it and not responding",
              "won't open {poss} eyes"]  # fmt: skip
TRIGGER = ["eating peanuts", "a bee sting", "eating shrimp", "a wasp sting", "taking penicillin", "eating prawns",
           "eating something with nuts", "the new antibiotic", "eating a cashew", "some sesame", "a bite of a cookie",
           "getting stung", "eating crab", "the new medicine"]  # fmt: skip
SWELL = ["lips are swelling up", "face is swelling", "tongue is swelling", "throat feels like it's closing",
         "eyes and lips are puffing up", "lips have blown up", "face is all puffy and swollen",
         "mouth is swelling", "throat is tight and swollen", "tongue feels huge"]  # fmt: skip
WHEEZE = ["wheezing", "struggling to breathe", "can't get air", "breathing is really noisy", "gasping",
          "having trouble breathing", "can't catch {poss} breath", "coughing and wheezing", "breathing funny"]  # fmt: skip
ACHE_SITE = ["jaw", "left arm", "arm", "jaw and left arm", "shoulder and arm", "neck and jaw", "upper back",
             "left shoulder", "arms", "back between the shoulders"]  # fmt: skip
FAINT = ["feels faint", "is dizzy and sweaty", "feels like passing out", "is clammy and grey", "is sweating buckets",
         "feels sick and lightheaded", "went pale and sweaty", "nearly fainted", "is in a cold sweat",
         "feels really weak and dizzy"]  # fmt: skip
SHOCK = ["pale and clammy", "dizzy and confused", "cold and sweaty", "really faint", "grey and shaky",
         "lightheaded and breathing fast", "pale and {poss} heart is racing", "drowsy and cold",
         "going white and clammy", "woozy and can barely stand"]  # fmt: skip
DENTAL_PROC = ["a tooth out", "my wisdom teeth out", "an extraction", "a tooth pulled", "oral surgery",
               "dental surgery", "a molar removed", "gum surgery"]  # fmt: skip
BLOOD = ["bleeding heavily", "pouring blood", "bleeding through every gauze", "filling {poss} mouth with blood",
         "soaking towels with blood", "bleeding nonstop", "spitting out loads of blood", "still bleeding a lot"]  # fmt: skip
PLACE = ["on the floor", "on the kitchen floor", "in the bathroom", "in the car", "on the couch", "in bed",
         "at the bus stop", "at work", "in the garden", "on the stairs"]  # fmt: skip
MINUTES = ["5 minutes", "ten minutes", "a few minutes", "like 6 mins", "over five minutes", "ages"]
SPEECH = ["talking gibberish", "slurring {poss} words", "can't get {poss} words out", "making no sense",
          "words are all jumbled", "can't speak properly", "speech is all garbled", "mumbling nonsense"]  # fmt: skip
FACE = ["face is drooping on one side", "smile is lopsided", "mouth is crooked", "one side of {poss} face has dropped",
        "face looks uneven", "eye and mouth are sagging on one side", "face went droopy"]  # fmt: skip
LIMB = ["can't lift {poss} right arm", "left arm has gone weak", "arm is all floppy", "leg gave way on one side",
        "can't feel {poss} left side", "one arm is numb and weak", "can't grip anything with {poss} hand"]  # fmt: skip
STUCK = ["a grape", "a piece of meat", "a sweet", "a chunk of apple", "a fish bone", "a peanut", "some steak",
         "a hard candy", "a bit of chicken", "a coin"]  # fmt: skip
CHOKE_SIGN = ["can't breathe", "can't cough or speak", "is making no sound", "is clutching {poss} throat",
              "is going blue", "can't get any air in", "is turning red and can't breathe", "can't talk"]  # fmt: skip
SUBSTANCE = ["bleach", "a dishwasher tablet", "some of my pills", "a bottle of paracetamol", "weed killer",
             "antifreeze", "a laundry pod", "grandma's heart tablets", "a button battery", "a load of ibuprofen",
             "drain cleaner", "nan's sleeping pills"]  # fmt: skip
BURN = ["boiling water all down {poss} arm", "hot oil on {poss} face", "a pan of boiling water over {poss} legs",
        "the kettle over {poss} chest", "a chemical splash on {poss} hand"]  # fmt: skip
BURN_LOOK = ["the skin is peeling off", "it's gone white and leathery", "huge blisters everywhere",
             "the skin is coming off", "it's charred", "it's a massive area and raw"]  # fmt: skip
HEAD_RED = ["keeps throwing up", "is confused and doesn't know where {P} is", "is really drowsy", "can't remember anything",
            "has clear fluid coming from {poss} nose", "was knocked out for a minute", "has one pupil bigger than the other",
            "is slurring"]  # fmt: skip
HEAD_HIT = ["fell and hit {poss} head", "banged {poss} head on the concrete", "fell off a ladder onto {poss} head",
            "got hit in the head with a bat", "came off {poss} bike and hit {poss} head", "slipped and cracked {poss} head"]  # fmt: skip
DESPAIR = ["I don't want to be here anymore", "I want to end it", "I've got the pills ready",
           "I'm going to kill myself", "I can't do this anymore and I have a plan", "everyone would be better off without me",
           "I'm thinking of ending my life tonight", "I just want to disappear forever", "I've been cutting and it's deep this time",
           "I want to die"]  # fmt: skip
BABY_SIGN = ["isn't breathing", "has gone floppy", "is blue around the lips", "won't wake up", "is limp and grey",
             "is breathing really fast and grunting", "stopped breathing for a bit", "is floppy and not responding",
             "has a rash that doesn't fade under a glass", "is sucking in under {poss} ribs to breathe"]  # fmt: skip
SPREAD = ["spreading up to {poss} eye", "going down {poss} neck", "so big {P} can't swallow", "closing {poss} eye",
          "making it hard to breathe", "spreading across {poss} face and neck", "so bad {P} can't open {poss} mouth",
          "up to under {poss} eye and {P} has a fever"]  # fmt: skip

TEMPLATES: list[Template] = [
    # seizure: shaking that lasts, or does not wake after
    T("seizure", "other", "{Nis} {shake} and {notwake}", shake=SHAKE, notwake=NOT_WAKING),
    T(
        "seizure",
        "other",
        "{N} just dropped {place} and {Pis} {shake}, it's been {mins}",
        shake=SHAKE,
        place=PLACE,
        mins=MINUTES,
    ),
    T(
        "seizure",
        "other",
        "{poss} whole body is jerking and {poss} eyes rolled back, it won't stop",
    ),
    T("seizure", "other", "{Nis} foaming at the mouth and {shake}", shake=SHAKE),
    T("seizure", "other", "{Nis} {shake} again and {P} never came round from the last one", shake=SHAKE),
    T("seizure", "child", "{Nis} {shake} with a high temperature and {poss} eyes are rolling", shake=SHAKE),
    T(
        "seizure",
        "other",
        "{N} went rigid and started jerking {place}, still going after {mins}",
        place=PLACE,
        mins=MINUTES,
    ),
    T("seizure", "self", "my arm started jerking and now I can't stop shaking all over"),
    # unconscious / unresponsive
    T("unconscious", "other", "{N} collapsed {place} and {notwake}", place=PLACE, notwake=NOT_WAKING),
    T("unconscious", "other", "found {N} {place}, {Pis} {notwake}", place=PLACE, notwake=NOT_WAKING),
    T("unconscious", "other", "{N} just keeled over and {Pis} {notwake}", notwake=NOT_WAKING),
    T("unconscious", "other", "I'm shaking {obj} and shouting but {P} {notwake}", notwake=NOT_WAKING),
    T("unconscious", "other", "{N} fell down {place} and {Pis} just lying there not moving", place=PLACE),
    T("unconscious", "other", "{N} went limp and {poss} eyes are open but {Pis} not there"),
    T("unconscious", "other", "{N} passed out {place} and I can't rouse {obj}", place=PLACE),
    T(
        "unconscious",
        "other",
        "{poss} eyes rolled back and {P} slumped over, {Pis} {notwake}",
        notwake=NOT_WAKING,
    ),
    # anaphylaxis: swelling and wheezing after a trigger
    T(
        "anaphylaxis",
        "any",
        "after {trigger} {poss} {swell} and {Pis} {wheeze}",
        trigger=TRIGGER,
        swell=SWELL,
        wheeze=WHEEZE,
    ),
    T("anaphylaxis", "any", "{poss} {swell} since {trigger}", trigger=TRIGGER, swell=SWELL),
    T(
        "anaphylaxis",
        "any",
        "{N} had {trigger} and now {Pis} {wheeze} and covered in hives",
        trigger=TRIGGER,
        wheeze=WHEEZE,
    ),
    T("anaphylaxis", "other", "{N} is allergic to nuts and just ate one, {poss} {swell}", swell=SWELL),
    T("anaphylaxis", "any", "{poss} {swell} and {Pis} {wheeze}", swell=SWELL, wheeze=WHEEZE),
    T(
        "anaphylaxis",
        "any",
        "{N} broke out in hives after {trigger} and now {P} feel{s} faint and {poss} throat is tight",
        trigger=TRIGGER,
    ),
    T("anaphylaxis", "other", "{N} used {poss} epipen but {Pis} still {wheeze}", wheeze=WHEEZE),
    # heart attack, with or without the chest
    T("cardiac", "other", "{N} has pain in {poss} {site} and {faint}", site=ACHE_SITE, faint=FAINT),
    T("cardiac", "other", "{poss} {site} hurts and {P} {faint}", site=ACHE_SITE, faint=FAINT),
    T("cardiac", "self", "I've got this heavy ache in my {site} and I feel sick and clammy", site=ACHE_SITE),
    T("cardiac", "other", "{N} is clutching {poss} chest and {faint}", faint=FAINT),
    T(
        "cardiac",
        "any",
        "{poss} chest feels like an elephant is sitting on it and it's going into {poss} {site}",
        site=ACHE_SITE,
    ),
    T(
        "cardiac",
        "other",
        "{N} says {poss} {site} feels heavy and numb and {P} {faint}",
        site=ACHE_SITE,
        faint=FAINT,
    ),
    T("cardiac", "any", "crushing pressure in {poss} chest and {Pis} sweating and breathless"),
    T(
        "cardiac",
        "other",
        "{N} suddenly went grey with pain down {poss} {site}, {Pis} sweating",
        site=ACHE_SITE,
    ),
    # stroke, FAST in lay words
    T("stroke", "other", "{poss} {face} and {Pis} {speech}", face=FACE, speech=SPEECH),
    T("stroke", "other", "{N} suddenly {limb} and {Pis} {speech}", limb=LIMB, speech=SPEECH),
    T("stroke", "other", "{poss} {face}, it happened just now", face=FACE),
    T("stroke", "any", "all of a sudden {N} {limb}", limb=LIMB),
    T("stroke", "other", "{Nis} {speech} out of nowhere and {poss} {face}", speech=SPEECH, face=FACE),
    T("stroke", "any", "{N} suddenly can't see out of one eye and {poss} {face}", face=FACE),
    T("stroke", "any", "worst headache of {poss} life came on like a thunderclap and {Pis} being sick"),
    # breathing difficulty
    T("breathing", "any", "{Nis} {wheeze} and {poss} lips are going blue", wheeze=WHEEZE),
    T("breathing", "any", "{N} can't get enough air in, can't even finish a sentence"),
    T("breathing", "any", "{poss} inhaler isn't helping and {Pis} {wheeze}", wheeze=WHEEZE),
    T("breathing", "any", "{Nis} gasping for air and {poss} lips look grey"),
    T("breathing", "other", "{N} is fighting to breathe and can't talk"),
    T("breathing", "any", "{N} suddenly can't breathe properly and it's getting worse by the minute"),
    T("breathing", "any", "{Nis} breathing really fast and shallow and {P} can't catch {poss} breath"),
    # choking
    T("choking", "other", "{N} choked on {stuck} and {choke}", stuck=STUCK, choke=CHOKE_SIGN),
    T("choking", "other", "{stuck} is stuck in {poss} throat and {P} {choke}", stuck=STUCK, choke=CHOKE_SIGN),
    T("choking", "child", "{N} swallowed {stuck} and {Pis} gagging and can't breathe", stuck=STUCK),
    T("choking", "other", "{N} is choking and back blows aren't working"),
    T("choking", "any", "something went down the wrong way and {N} {choke}", choke=CHOKE_SIGN),
    T("choking", "child", "{Nis} choking on {stuck}, {Pis} going blue", stuck=STUCK),
    # severe bleeding, including after a dental procedure with shock signs
    T(
        "bleeding",
        "any",
        "had {proc} today and {Pis} {blood}, now {Pis} {shock}",
        proc=DENTAL_PROC,
        blood=BLOOD,
        shock=SHOCK,
    ),
    T(
        "bleeding",
        "any",
        "the socket from {proc} won't stop bleeding and {Pis} {shock}",
        proc=DENTAL_PROC,
        shock=SHOCK,
    ),
    T(
        "bleeding",
        "any",
        "{Nis} {blood} after {proc} and looks {shock}",
        blood=BLOOD,
        proc=DENTAL_PROC,
        shock=SHOCK,
    ),
    T("bleeding", "any", "{N} cut {poss} leg and blood is spurting out"),
    T("bleeding", "other", "{Nis} lost a lot of blood and {Pis} {shock}", shock=SHOCK),
    T(
        "bleeding",
        "any",
        "deep gash on {poss} arm, blood soaking through the towel and {Pis} {shock}",
        shock=SHOCK,
    ),
    T(
        "bleeding",
        "any",
        "{N} {have} been bleeding from the mouth since {proc} and {Pis} {shock}",
        proc=DENTAL_PROC,
        shock=SHOCK,
    ),
    # poisoning and overdose
    T("poisoning", "child", "{N} swallowed {sub}", sub=SUBSTANCE),
    T("poisoning", "child", "{N} got into {sub} and {Pis} being sick", sub=SUBSTANCE),
    T("poisoning", "other", "{N} took {sub} on purpose and {Pis} really drowsy", sub=SUBSTANCE),
    T("poisoning", "other", "think {N} overdosed, {Pis} barely breathing"),
    T("poisoning", "any", "{N} drank {sub} by mistake", sub=SUBSTANCE),
    T("poisoning", "other", "{N} took way too many of {poss} tablets and {Pis} not making sense"),
    # burns
    T("burn", "any", "{N} spilt {burn} and {look}", burn=BURN, look=BURN_LOOK),
    T("burn", "child", "{N} pulled {burn}, {look}", burn=BURN, look=BURN_LOOK),
    T("burn", "any", "{poss} hand got burned on the stove and {look}", look=BURN_LOOK),
    T("burn", "other", "{N} was in a fire and {poss} skin is black in places"),
    T("burn", "any", "got an electric shock off the cooker and {poss} hand is burned through"),
    # head injury with red flags
    T("head_injury", "other", "{N} {hit} and now {red}", hit=HEAD_HIT, red=HEAD_RED),
    T("head_injury", "child", "{N} {hit} and {red}", hit=HEAD_HIT, red=HEAD_RED),
    T("head_injury", "other", "after {P} {hit} {P} {red}", hit=HEAD_HIT, red=HEAD_RED),
    T("head_injury", "other", "{N} got punched in the head, {red}", red=HEAD_RED),
    # self-harm and suicidal intent
    T("self_harm", "self", "{despair}", despair=DESPAIR),
    T("self_harm", "self", "honestly {despair}. not sure why i'm telling a dentist", despair=DESPAIR),
    T("self_harm", "self", "I can't cope, {despair}", despair=DESPAIR),
    T("self_harm", "other", "{N} says {P} want{s} to die and {P} {have} taken a load of pills"),
    T("self_harm", "other", "{N} just texted me goodbye and says {P} {have} a rope"),
    T("self_harm", "self", "im done. ive written the notes. {despair}", despair=DESPAIR),
    # a child or baby not breathing or floppy
    T("child", "child", "{N} {sign}", sign=BABY_SIGN),
    T("child", "child", "{N} {sign} and I'm panicking", sign=BABY_SIGN),
    T("child", "child", "{N} has a high fever and {sign}", sign=BABY_SIGN),
    T("child", "child", "i think {N} {sign}, what do i do", sign=BABY_SIGN),
    # dental swelling that spreads: straight to A&E
    T("dental_infection", "any", "{poss} face is swollen from a bad tooth and it's {spread}", spread=SPREAD),
    T("dental_infection", "any", "the abscess on {poss} tooth has blown up, {spread}", spread=SPREAD),
    T("dental_infection", "any", "{poss} jaw swelling from the wisdom tooth is {spread}", spread=SPREAD),
    T("dental_infection", "any", "tooth infection, cheek swelling {spread}", spread=SPREAD),
]
