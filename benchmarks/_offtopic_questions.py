"""Fixed off-topic questions for ``evidence_answer.py``: none has an answer in SciFact's 5,183 biomedical
abstracts. ``TUNING`` (30) chooses the relevance floor with the train claims; ``SCORED`` (50) is only
scored. Written for this benchmark (general knowledge, everyday tasks, other sciences, software)."""

TUNING = (
    "What is the capital of Australia?", "How do I change a flat bicycle tyre?",
    "Who wrote the novel Pride and Prejudice?", "What is the best way to season a cast iron pan?",
    "How many players are on a rugby union team?", "When did the Berlin Wall fall?",
    "How do I reset my home Wi-Fi router?", "What is the tallest mountain in Africa?",
    "Which programming language is used for Android apps?", "How do you tie a bowline knot?",
    "What is the exchange rate between the euro and the yen?", "Who painted The Starry Night?",
    "How long should I boil an egg for a soft yolk?", "What are the rules of chess castling?",
    "How does a jet engine produce thrust?", "What is the plot of Hamlet?",
    "Which planet has the most moons?", "How do I write a cover letter for a job?",
    "What is the speed of sound in air?", "How do you grow tomatoes on a balcony?",
    "Who won the football World Cup in 1998?", "What is a Roth IRA?",
    "How are diamonds formed in the Earth's mantle?", "What is the best time to visit Kyoto?",
    "How do I undo the last git commit?", "What language is spoken in Brazil?",
    "How is paper recycled?", "What causes the northern lights?",
    "How do I knit a scarf for beginners?", "What is the population of Canada?",
)

SCORED = (
    "What is the capital of France?", "How do I bake sourdough bread?",
    "Who was the first person to walk on the Moon?", "How do I replace a car's windscreen wipers?",
    "What is the rule for the offside in football?", "Which river is the longest in South America?",
    "How do I make a cappuccino with a moka pot?", "What year did the Titanic sink?",
    "How does a refrigerator keep food cold?", "What is the difference between a violin and a viola?",
    "How do I install Python packages with pip?", "What is the Pythagorean theorem?",
    "Who composed the Four Seasons?", "How do I remove a red wine stain from a carpet?",
    "What is the boiling point of water at the top of Everest?", "How are volcanoes formed?",
    "Which city hosted the 2012 Summer Olympics?", "What does a mortgage broker do?",
    "How do I train a puppy to sit?", "What is the largest desert in the world?",
    "How does a bill become a law in the United States?", "What is the origin of the game of cricket?",
    "How do I calculate compound interest?", "What is the meaning of the word serendipity?",
    "How many strings does a standard guitar have?", "What is the best way to learn Spanish quickly?",
    "How do solar panels convert sunlight into electricity?", "Who invented the printing press?",
    "What is the difference between weather and climate?", "How do I fold a paper crane?",
    "What are the ingredients of a classic margherita pizza?", "How far is the Moon from the Earth?",
    "How do I paint a wall without leaving streaks?", "What is the stock market?",
    "Which animals live in the Arctic tundra?", "How do I sort a list in JavaScript?",
    "What is the history of the Eiffel Tower?", "How does a hybrid car save fuel?",
    "What is the national dish of Spain?", "How do I set up a freshwater aquarium?",
    "What are the phases of the Moon?", "How do I write a haiku?",
    "Which country has the most islands?", "How do airplanes stay in the air?",
    "What is a black hole?", "How do I clean a laptop keyboard?",
    "Who wrote the Odyssey?", "How does a credit score work?",
    "What is the tallest building in the world?", "How do I plan a budget for a wedding?",
)
assert len(TUNING) == 30 and len(SCORED) == 50 and not set(TUNING) & set(SCORED)
