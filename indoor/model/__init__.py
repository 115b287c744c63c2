"""Models: backbones (:mod:`.backbones`), the feature pass (:mod:`.features`), the linear probe (:mod:`.probe`),
fine-tuning (:mod:`.finetune`) and explanations (:mod:`.explain`). Everything here imports torch."""
