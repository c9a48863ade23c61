"""Parameter-efficient fine-tuning methods, registered in
:data:`~serendip.models.registries.PEFT_METHODS` (``peft.method`` of a config):

* ``none`` - full fine-tuning, the model unchanged;
* ``lora`` - LoRA (Hu et al. 2021, arXiv:2106.09685);
* ``adalora`` - AdaLoRA (Zhang et al. 2023, arXiv:2303.10512): the rank budget is updated after every
  optimizer step (``model.base_model.update_and_allocate(global_step)``, before the gradients are
  cleared) and its orthogonal regularisation (weight ``orth_reg_weight``) is added to the task loss,
  as ``peft`` does when the model computes the loss itself.

An entry is a class with ``adapter`` (True when it trains an adapter that is saved on its own and
merged into the exported model), ``wrap(model, peft_cfg, head, total_steps)``,
``regularizer(model)`` (a term added to the loss, or None) and ``after_step(model, step)``. The head of the task is trained in
full (PEFT's ``modules_to_save`` for SEQ_CLS / TOKEN_CLS).
"""
from __future__ import annotations

import copy
from typing import Any, ClassVar

from serendip.errors import ConfigError
from serendip.models.registries import PEFT_METHODS
from serendip.models.tasks import Task

__all__ = ["AdaLoraMethod", "FullFineTuning", "LoraMethod", "apply_peft", "merge_peft", "peft_method",
           "uses_adapter"]


@PEFT_METHODS.register("none")
class FullFineTuning:
    """Every parameter trains; nothing is wrapped, nothing is added to the loss."""

    adapter: ClassVar[bool] = False

    def wrap(self, model: Any, peft_cfg: Any, head: Any, total_steps: int) -> Any:
        return model

    def regularizer(self, model: Any) -> Any:
        return None

    def after_step(self, model: Any, step: int) -> None:
        return None


@PEFT_METHODS.register("lora")
class LoraMethod(FullFineTuning):
    """LoRA adapters of rank ``r`` on ``target_modules`` (the update scaled by ``alpha / r``)."""

    adapter = True

    def peft_config(self, peft_cfg: Any, common: dict[str, Any], total_steps: int) -> Any:
        from peft import LoraConfig

        return LoraConfig(r=peft_cfg.r, **common)

    def wrap(self, model: Any, peft_cfg: Any, head: Any, total_steps: int) -> Any:
        from peft import TaskType, get_peft_model

        from serendip.models.backbone import quiet_hf

        common = {"task_type": getattr(TaskType, head.peft_task_type), "lora_alpha": peft_cfg.alpha,
                  "lora_dropout": peft_cfg.dropout, "target_modules": peft_cfg.target_modules}
        pcfg = self.peft_config(peft_cfg, common, total_steps)
        with quiet_hf():
            try:
                return get_peft_model(model, pcfg)
            except ValueError as exc:
                raise ConfigError(f"peft.{peft_cfg.method}: {exc}") from None


@PEFT_METHODS.register("adalora")
class AdaLoraMethod(LoraMethod):
    """AdaLoRA: ranks from ``init_r`` pruned to ``target_r`` on the schedule of ``peft_cfg.adalora``."""

    def peft_config(self, peft_cfg: Any, common: dict[str, Any], total_steps: int) -> Any:
        from peft import AdaLoraConfig

        ada = peft_cfg.adalora
        if ada.tinit + ada.tfinal >= total_steps:
            raise ConfigError(f"peft.adalora: tinit ({ada.tinit}) + tfinal ({ada.tfinal}) must be below "
                              f"the number of training steps ({total_steps}); lower them or train longer")
        return AdaLoraConfig(init_r=ada.init_r, target_r=ada.target_r, tinit=ada.tinit,
                             tfinal=ada.tfinal, deltaT=ada.deltaT, beta1=ada.beta1, beta2=ada.beta2,
                             orth_reg_weight=ada.orth_reg_weight, total_step=total_steps, **common)

    def regularizer(self, model: Any) -> Any:
        """AdaLoRA's orthogonal regularisation ``mean ||P P^T - I||_F`` over the lora_A (P) and
        lora_B (Q^T Q) matrices, times ``orth_reg_weight`` - as ``peft.AdaLoraModel.forward`` adds
        it to a model-computed loss (Zhang et al. 2023, eq. 4); None when the weight is 0."""
        import torch

        base = model.base_model
        name = base.trainable_adapter_name
        weight = base.peft_config[name].orth_reg_weight
        total, n = None, 0
        for pname, p in base.model.named_parameters():
            if ("lora_A" in pname or "lora_B" in pname) and name in pname and p.numel():
                cov = p @ p.T if "lora_A" in pname else p.T @ p
                eye = torch.eye(*cov.shape, dtype=cov.dtype, device=cov.device)
                term = torch.norm(cov - eye, p="fro")
                total = term if total is None else total + term
                n += 1
        if total is None or weight == 0:
            return None
        return weight * total / n

    def after_step(self, model: Any, step: int) -> None:
        # after the optimizer step, before the gradients are cleared (peft's documented order)
        model.base_model.update_and_allocate(step)


def peft_method(name: str) -> FullFineTuning:
    """A new instance of the registered PEFT method ``name`` (ConfigError listing the choices)."""
    return PEFT_METHODS.get(name)()


def uses_adapter(peft_cfg: Any) -> bool:
    """Whether the PEFT method of ``peft_cfg`` trains an adapter (saved alone, merged on export)."""
    return PEFT_METHODS.get(peft_cfg.method).adapter


def apply_peft(model: Any, peft_cfg: Any, task: Task, total_steps: int) -> Any:
    """Wrap ``model`` with the PEFT method ``peft_cfg.method`` (``"none"``: unchanged).

    The classification head is trained in full (PEFT's ``modules_to_save`` for SEQ_CLS/TOKEN_CLS).
    AdaLoRA gets ``total_step = total_steps``.

    Raises
    ------
    ConfigError
        Unknown method; AdaLoRA's ``tinit + tfinal`` leaves no step for rank allocation, or no
        target module matched.
    """
    from serendip.models.heads import head_of

    return peft_method(peft_cfg.method).wrap(model, peft_cfg, head_of(task), total_steps)


def merge_peft(model: Any) -> Any:
    """A plain Transformers model with the LoRA/AdaLoRA updates merged into its weights
    (``merge_and_unload`` on a deep copy; ``model`` stays usable). A non-PEFT model is returned as is."""
    from serendip.models.backbone import quiet_hf

    if not hasattr(model, "merge_and_unload"):
        return model
    with quiet_hf():
        merged = copy.deepcopy(model).merge_and_unload()
    merged.eval()
    return merged
