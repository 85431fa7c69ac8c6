"""The torch modules of ``workloads/ofa_resnet.py``: OFA's static ResNets sub-net and
torchvision's ResNet-50 v1.5, in plain torch (torchvision does not import beside the CPU
torch build on these machines).

Kept apart from the declarations (knobs, layouts, costs, named sub-nets) so that parsing
a configuration, or reading its cached IR, never imports torch: ``ofa_resnet.py`` imports
this module only when a model is built, and this module imports nothing of it (the number of
classes comes in as an argument).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import torch
import torch.nn as nn


# ---------------------------------------------------------------------------
# torch modules (the layout of OFA's static ResNets, so its state_dicts load unchanged)
# ---------------------------------------------------------------------------
class ConvLayer(nn.Module):
    """ofa/utils/layers.py ConvLayer: conv (no bias, same padding) -> BN -> ReLU."""

    def __init__(self, cin: int, cout: int, kernel_size: int = 3, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size, stride, kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout, momentum=0.1, eps=1e-5)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class StemResidual(nn.Module):
    """ofa/utils/layers.py ResidualBlock(ConvLayer, IdentityLayer): x + conv(x), no final act."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = ConvLayer(channels, channels, 3, 1)

    def forward(self, x):
        return self.conv(x) + x


class BottleneckBlock(nn.Module):
    """ofa/utils/layers.py ResNetBottleneckBlock with downsample_mode='avgpool_conv'."""

    def __init__(self, cin: int, cout: int, mid: int, stride: int):
        super().__init__()
        self.conv1 = nn.Sequential(OrderedDict([
            ("conv", nn.Conv2d(cin, mid, 1, 1, 0, bias=False)),
            ("bn", nn.BatchNorm2d(mid)),
            ("act", nn.ReLU(inplace=True)),
        ]))
        self.conv2 = nn.Sequential(OrderedDict([
            ("conv", nn.Conv2d(mid, mid, 3, stride, 1, bias=False)),
            ("bn", nn.BatchNorm2d(mid)),
            ("act", nn.ReLU(inplace=True)),
        ]))
        self.conv3 = nn.Sequential(OrderedDict([
            ("conv", nn.Conv2d(mid, cout, 1, 1, 0, bias=False)),
            ("bn", nn.BatchNorm2d(cout)),
        ]))
        if stride == 1 and cin == cout:
            self.downsample = None  # IdentityLayer
        else:
            self.downsample = nn.Sequential(OrderedDict([
                ("avg_pool", nn.AvgPool2d(kernel_size=stride, stride=stride, padding=0, ceil_mode=True)),
                ("conv", nn.Conv2d(cin, cout, 1, 1, 0, bias=False)),
                ("bn", nn.BatchNorm2d(cout)),
            ]))
        self.final_act = nn.ReLU(inplace=True)

    def forward(self, x):
        residual = x if self.downsample is None else self.downsample(x)
        x = self.conv3(self.conv2(self.conv1(x)))
        return self.final_act(x + residual)


class LinearLayer(nn.Module):
    """ofa/utils/layers.py LinearLayer (bias, no BN/act, dropout 0 in ofa_resnet50)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.linear = nn.Linear(cin, cout, bias=True)

    def forward(self, x):
        return self.linear(x)


class OFAResNetSubnet(nn.Module):
    """ofa/imagenet_classification/networks/resnets.py ResNets: the static sub-net."""

    def __init__(self, input_stem: Sequence[nn.Module], blocks: Sequence[nn.Module], classifier: nn.Module):
        super().__init__()
        self.input_stem = nn.ModuleList(input_stem)
        self.max_pooling = nn.MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)
        self.blocks = nn.ModuleList(blocks)
        self.classifier = classifier

    def forward(self, x):
        for layer in self.input_stem:
            x = layer(x)
        x = self.max_pooling(x)
        for block in self.blocks:
            x = block(x)
        x = x.mean(3).mean(2)  # MyGlobalAvgPool2d(keep_dim=False)
        return self.classifier(x)


# ---------------------------------------------------------------------------
# torchvision ResNet-50 v1.5 (same module names as torchvision.models.resnet50)
# ---------------------------------------------------------------------------
class _TVBottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        width = planes
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)  # v1.5: stride on the 3x3
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet50(nn.Module):
    """torchvision.models.resnet50 (v1.5): 25,557,032 parameters."""

    def __init__(self, num_classes: int, layers: Sequence[int] = (3, 4, 6, 3)):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], 2)
        self.layer3 = self._make_layer(256, layers[2], 2)
        self.layer4 = self._make_layer(512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * _TVBottleneck.expansion, num_classes)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * 4:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4)
            )
        layers = [_TVBottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * 4
        layers += [_TVBottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))
